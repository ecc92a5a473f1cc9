"""The sink processors load their client libraries when scheduled, not when a flow
names them: an agent that declares PublishMQTT carries paho only once it runs it, and
nothing of SQLAlchemy unless it has a database."""

import subprocess
import sys


def test_naming_the_sinks_loads_no_sqlalchemy_paho_psycopg_or_kafka() -> None:
    script = """
import sys
from headwater.processor import processor_type, service_type
for name in ("PublishMQTT", "ConsumeMQTT", "PutSlack", "PublishSlack", "PutEmail",
             "PutDatabaseRecord", "PublishKafka", "ConsumeKafka", "PutHBaseJSON",
             "PublishKafkaRecord", "ConsumeKafkaRecord"):
    processor_type(name)
service_type("DBCPConnectionPool")
service_type("HBaseThriftClientService")
heavy = ("sqlalchemy", "paho", "psycopg", "confluent_kafka", "happybase")
print(sorted(m for m in heavy if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
