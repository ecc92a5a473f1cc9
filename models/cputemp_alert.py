"""An example user model for ``headwater models serve``: CDSW's shape, a function that
takes the request's JSON object and returns one.

Given one of the seed's sensor readings, it says whether the board runs hot.
"""


def predict(args: dict) -> dict:
    """``{"cputemp": 44, "bme680_tempc": "23.97"}`` -> ``{"alert": false, ...}``."""
    cpu = float(args["cputemp"])
    ambient = float(args.get("bme680_tempc", 20.0))
    margin = cpu - ambient
    return {"alert": cpu > 70.0 or margin > 45.0, "cputemp": cpu, "margin": round(margin, 2)}
