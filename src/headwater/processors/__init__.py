"""Built-in processors, one module per family.

Importing this package imports none of them: ``headwater.catalog`` says which module
defines which type, a flow imports the modules of the types it names, and
``load_extensions`` imports them all (for the docs).
"""
