import ArgumentParser
import TorporCLI

// The commands live in the TorporCLI library; this is only the entry point.
@main
extension Torpor {}
