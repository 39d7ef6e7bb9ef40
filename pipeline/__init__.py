"""Campaign buzz pipeline: sources -> Kafka -> Faust processors -> ClickHouse -> dashboard."""

__version__ = "0.1.0"
