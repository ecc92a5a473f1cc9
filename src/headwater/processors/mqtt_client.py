"""What PublishMQTT and ConsumeMQTT share: the broker properties and a connected paho
client.

paho-mqtt is imported when a processor is scheduled, so an agent flow without MQTT
never loads it. The client runs paho's network thread (``loop_start``), which
reconnects by itself after the broker goes away; the processors only ask whether it is
connected. ``ssl://`` and ``mqtts://`` brokers use TLS, with the trust (and client
certificate) of the SSL Context Service when one is set.
"""

from __future__ import annotations

import threading
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from headwater.context import ProcessContext
from headwater.errors import ProcessException
from headwater.processor import Processor, Property
from headwater.services.ssl import StandardSSLContextService
from headwater.units import parse_positive_int

if TYPE_CHECKING:
    import paho.mqtt.client as mqtt

CLEAN, RESUME = "Clean Session", "Resume Session"
V3_AUTO, V311, V5 = "v3 AUTO", "v3.1.1", "v5.0"
_SCHEMES = {"tcp": 1883, "mqtt": 1883, "ssl": 8883, "mqtts": 8883}


def parse_broker_uri(text: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of ``tcp://host:1883`` or ``ssl://host:8883``."""
    parts = urlsplit(text.strip())
    if parts.scheme not in _SCHEMES or not parts.hostname:
        raise ValueError(
            f"expected a broker URI such as tcp://host:1883 or ssl://host:8883, got {text!r}"
        )
    return parts.scheme, parts.hostname, parts.port or _SCHEMES[parts.scheme]


def parse_qos(text: str) -> int:
    if text.strip() not in ("0", "1", "2"):
        raise ValueError(f"expected a QoS of 0, 1 or 2, got {text!r}")
    return int(text)


class MQTTUnavailable(ProcessException):
    """The broker cannot be reached or dropped the connection: try again later."""


class AbstractMQTTProcessor(Processor):
    """Broker URI, client id, login, TLS and session state, and the paho client."""

    broker = Property(
        "Broker URI",
        "tcp://host:1883, or ssl://host:8883 for TLS",
        required=True,
        parse=parse_broker_uri,
    )
    version = Property(
        "MQTT Specification Version",
        "The protocol version; v3 AUTO speaks 3.1.1",
        default=V3_AUTO,
        required=True,
        allowed=(V3_AUTO, V311, V5),
    )
    client_id = Property(
        "Client ID",
        "The client's id at the broker; needed to resume a session (random when empty)",
        expression=True,
    )
    username = Property("Username", "User name at the broker", expression=True)
    password = Property("Password", "Password at the broker", sensitive=True)
    ssl_context = Property[StandardSSLContextService](
        "SSL Context Service",
        "Trust, and a client certificate, for ssl:// brokers",
        service=StandardSSLContextService,
    )
    session_state = Property(
        "Session state",
        "Clean Session forgets subscriptions and queued messages on disconnect;"
        " Resume Session keeps them at the broker under the Client ID",
        default=CLEAN,
        required=True,
        allowed=(CLEAN, RESUME),
    )
    connect_timeout = Property(
        "Connection Timeout (seconds)",
        "Longest wait to connect",
        default="30",
        required=True,
        parse=parse_positive_int,
    )
    keep_alive = Property(
        "Keep Alive Interval (seconds)",
        "Ping interval that detects a dead connection",
        default="60",
        required=True,
        parse=parse_positive_int,
    )

    _client: mqtt.Client | None = None
    _connected: threading.Event
    max_packet: int | None = None
    """The broker's Maximum Packet Size (MQTT 5 brokers say it when we connect)."""

    def transit_uri(self, context: ProcessContext, topic: str = "") -> str:
        scheme, host, port = context[self.broker]
        return f"{scheme}://{host}:{port}" + (f"/{topic}" if topic else "")

    def open_client(self, context: ProcessContext, **callbacks: Any) -> mqtt.Client:
        """A client connecting in the background; ``on_connect`` callbacks run after
        every (re)connection, so subscriptions survive a broker restart."""
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

        scheme, host, port = context[self.broker]
        v5 = context[self.version] == V5
        resume = context[self.session_state] == RESUME
        client_id = context.get(self.client_id) or ""
        if resume and not client_id:
            raise ProcessException("Resume Session needs a Client ID, so the broker knows us again")
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"headwater-{uuid.uuid4().hex[:12]}",
            clean_session=None if v5 else not resume,
            protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
            manual_ack=callbacks.pop("manual_ack", False),
        )
        if context.get(self.username):
            client.username_pw_set(context.get(self.username), context.get(self.password))
        if scheme in ("ssl", "mqtts"):
            tls = context.get(self.ssl_context)
            client.tls_set_context(tls.create_client_context() if tls is not None else None)
        client.reconnect_delay_set(min_delay=1, max_delay=5)
        client.connect_timeout = context[self.connect_timeout]
        connected = self._connected = threading.Event()
        subscribe = callbacks.pop("on_connect", None)

        def on_connect(c: mqtt.Client, userdata: Any, flags: Any, code: Any, props: Any) -> None:
            if code.is_failure:
                context.logger.warning("broker %s refused the connection: %s", host, code)
                return
            self.max_packet = getattr(props, "MaximumPacketSize", None) if v5 else None
            if subscribe is not None:
                subscribe(c)
            connected.set()

        def on_disconnect(c: mqtt.Client, userdata: Any, flags: Any, code: Any, props: Any) -> None:
            connected.clear()

        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
        for name, callback in callbacks.items():
            setattr(client, name, callback)
        options: dict[str, Any] = {"keepalive": context[self.keep_alive]}
        if v5:
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties

            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.ReceiveMaximum = 1000
            if resume:
                properties.SessionExpiryInterval = 0xFFFFFFFF
            options |= {"clean_start": not resume, "properties": properties}
        try:
            client.connect_async(host, port, **options)
        except (OSError, ValueError) as exc:
            raise MQTTUnavailable(f"cannot connect to {host}:{port}: {exc}") from exc
        client.loop_start()
        self._client = client
        return client

    def wait_connected(self, seconds: float) -> bool:
        return self._client is not None and self._connected.wait(seconds)

    def close_client(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None
