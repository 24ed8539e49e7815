import ArgumentParser
import TorporLab

// The commands live in the TorporLab library; this is only the entry point.
@main
extension Lab {}
