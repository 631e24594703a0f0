"""One module per resource; routes parse, call one service or workflow message, shape the answer."""
