// The torpor user CLI (virtual clusters, hosts, lab) arrives with the manager work.
