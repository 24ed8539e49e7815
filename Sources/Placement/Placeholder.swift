// Placement policies.
