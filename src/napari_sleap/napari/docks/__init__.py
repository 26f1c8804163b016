"""The dock widgets, one module each, and the pieces they share."""
