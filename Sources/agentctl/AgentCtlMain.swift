import AgentControl
import ArgumentParser

// The commands live in the AgentControl library; this is only the entry point.
@main
extension AgentCtl {}
