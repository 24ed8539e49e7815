/// Where a broker is and who to log in as.
public struct AMQPEndpoint: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var virtualHost: String
    public var user: String
    public var password: String

    public init(host: String, port: Int = 5672, virtualHost: String = "/", user: String, password: String) {
        self.host = host
        self.port = port
        self.virtualHost = virtualHost
        self.user = user
        self.password = password
    }
}

extension AMQPEndpoint: CustomStringConvertible {
    /// Never the password.
    public var description: String { "amqp://\(user)@\(host):\(port)/\(virtualHost)" }
}
