"""The ``webhook`` connector: an HTTP receiver for signups (Action Network, Mobilize, forms).

``source.py`` (the connector, registered as ``webhook``, and its HTTP server), ``config.py`` (its
options), ``receiver.py`` (one request to its answer), ``auth.py`` (signatures, tokens, replay
protection), ``mapping.py`` (payloads to signups, pure), ``redact.py`` (personal data out of
dead letters).
"""
