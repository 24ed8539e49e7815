print("torpor-bench")
