print("torpor-manager 0.1.0")
