"""The RPC layer: the bound ZeroMQ ROUTER socket (``router``), connection limits
(``connections``), frames to an authenticated request (``inbound``, ``auth``), per-connection
state (``sessions``), method → handler (``dispatch``) and the request loop (``server``).

It knows frames, signatures and sessions; it never imports the store, the service or fetch."""
