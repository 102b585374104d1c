"""JSON endpoints: parse, call one service, shape the reply."""
