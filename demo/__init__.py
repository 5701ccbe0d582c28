"""The demo shop `make run` sets up: a shop, its staff, a season of orders and answers, and a
monthly report to click through. It sits above every other app and nothing imports it."""
