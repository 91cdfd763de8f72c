"""How a request reaches DynamoDB, and how its answer is judged: both request paths.

- `base`: the `Transport` protocol, the aioboto3 client's transport, and `open_transport`,
  which picks one from ``DynamoDBConfig.fast_path``;
- `client` (with `tuning`, `wire`, `redaction`, `client_hooks`): the aioboto3 client;
- `lean` (with `http11` and `signing`): the item operations as signed JSON posts;
- `answers`: what a DynamoDB answer is, and whether a failed attempt may have applied;
- `tls`: the one verified TLS context both paths use.
"""
