"""The rollup domain: combining Tool A figures up the chain and across practices."""
