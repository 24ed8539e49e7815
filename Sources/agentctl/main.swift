print("agentctl 0.1.0")
