// The typed wrapper over libipmimonitoring (BMC power sensors) arrives with the energy-saving work.
