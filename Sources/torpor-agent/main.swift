print("torpor-agent 0.1.0")
