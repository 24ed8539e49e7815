/// A VM to be placed. Policies place by `estimated`; `requested` is what the VM was defined with.
public struct VMRequest: Sendable, Hashable {
    public var id: String
    public var requested: ResourceVector
    public var estimated: ResourceVector

    /// Without an estimate the request is taken at face value.
    public init(id: String, requested: ResourceVector, estimated: ResourceVector? = nil) {
        self.id = id
        self.requested = requested
        self.estimated = estimated ?? requested
    }
}
