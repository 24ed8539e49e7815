print("torpor 0.1.0")
