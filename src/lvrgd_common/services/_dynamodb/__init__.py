"""Private machinery behind `DynamoDBService`: codec, expressions, batching, errors."""
