"""Side-by-side benchmark of `DynamoDBService` against raw aioboto3, on dynalite (`make bench`)."""
