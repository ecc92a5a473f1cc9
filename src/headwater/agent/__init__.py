"""The edge agent's device side: sensor drivers and their simulations.

Nothing here is imported by the engine, and nothing here imports anything heavy at
import time: vendor libraries (``bme680``, ``ltr559``, ...), OpenCV and Pillow are
imported when a processor is scheduled, and only if present.
"""
