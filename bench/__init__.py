"""`make bench`: how fast the pipeline is, against the raw ceiling of the same Kafka and MongoDB."""
