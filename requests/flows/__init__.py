"""The requester's journeys, step by step (allauth's ``internal/flows``): each step takes the
request and returns an outcome; the HTML views, and later the API, shape input and render."""
