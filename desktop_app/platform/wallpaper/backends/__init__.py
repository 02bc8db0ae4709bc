"""One module per desktop or setter; ``registry`` lists them in the order they are tried."""
