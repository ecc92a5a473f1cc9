"""The edge agent: its configuration, its flow and C2 with the hubs (``config``,
``running_flow``, ``heartbeat``, ``c2_client``, ``runner``), and the device side —
sensor drivers and their simulations, camera images.

Nothing here is imported by the engine, and nothing here imports anything heavy at
import time: vendor libraries (``bme680``, ``ltr559``, ...), OpenCV and Pillow are
imported when a processor is scheduled, and only if present.
"""
