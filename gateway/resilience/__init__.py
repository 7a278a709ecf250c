"""Resilience around platform clients: retries, throttle state, circuit breakers, deadlines."""
