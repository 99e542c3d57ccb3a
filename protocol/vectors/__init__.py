"""Golden test vectors of the wire protocol, and the generator that writes them.

``valid/`` holds messages every implementation must accept (and re-encode to the same
bytes), ``invalid/`` requests a server must refuse with the named error code, ``signed/``
complete signed frames for checking HMAC signing byte for byte. Regenerate with
``python -m protocol.vectors.generate --write``; Python (tests/contract/test_vectors.py) and
TypeScript replay the same files.
"""
