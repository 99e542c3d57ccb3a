"""The black-box conformance harness: checks any implementation of the protocol over the wire.

It knows only the wire (pyzmq, msgpack through ``sidecar.wire``, HMAC signing) and the
contract (``protocol`` and the JSON Schemas in ``protocol/schema``); it never imports the
server. Run it with ``media-sidecar harness --connection-file FILE``.
"""
