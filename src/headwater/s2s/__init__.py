"""Site-to-site over HTTP(S): NiFi's protocol for moving FlowFiles between instances.

- ``protocol``: headers, response codes, the FlowFile stream framing and its CRC32;
- ``transactions``: the hub's open transactions and their TTL;
- ``port``: ``InputPort``, where received FlowFiles enter the hub's flow, stored once;
- ``client``: ``SiteToSiteClient``, one transaction at a time over several hub URLs;
- ``remote``: ``RemoteProcessGroup``, the sending processor built on the client.

``headwater.catalog`` points a flow at the two processors.
"""
