"""The wire: msgpack envelopes and HMAC signing of multipart messages (server and clients)."""
