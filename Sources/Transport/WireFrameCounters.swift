import CoreMetrics
import Wire

/// A daemon's Wire traffic by message type (docs/metrics.md): frames received and sent, frames refused by the
/// peer certificate's role, and frames that failed to decode, by the kind of error. Every series is made once, at
/// zero, so that rates work from the first scrape and the hot path only increments.
public final class WireFrameCounters: Sendable {
    /// Counts nothing: clients and tests that export no metrics.
    public static let none = WireFrameCounters(factory: NOOPMetricsHandler.instance)

    private let received: [WireMessageType: Counter]
    private let sent: [WireMessageType: Counter]
    private let refused: [WireMessageType: Counter]
    private let decodeErrors: [String: Counter]

    public init(factory: any MetricsFactory) {
        func counters(_ label: String) -> [WireMessageType: Counter] {
            Dictionary(
                uniqueKeysWithValues: WireMessageType.allCases.map {
                    ($0, Counter(label: label, dimensions: [("type", $0.description)], factory: factory))
                }
            )
        }
        received = counters("torpor_wire_frames_received_total")
        sent = counters("torpor_wire_frames_sent_total")
        refused = counters("torpor_wire_frames_refused_total")
        decodeErrors = Dictionary(
            uniqueKeysWithValues: Self.errorKinds.map {
                ($0, Counter(label: "torpor_wire_decode_errors_total", dimensions: [("error", $0)], factory: factory))
            }
        )
    }

    func received(_ type: WireMessageType) { received[type]?.increment() }
    func sent(_ type: WireMessageType) { sent[type]?.increment() }
    func refused(_ type: WireMessageType) { refused[type]?.increment() }
    func decodeFailed(_ error: WireError) { decodeErrors[Self.kind(of: error)]?.increment() }

    /// The `error` label's values, one per `WireError` case.
    static let errorKinds = [
        "bad_magic", "unknown_version", "frame_too_large", "unknown_message_type", "truncated", "trailing_bytes",
        "invalid_utf8", "invalid_value", "absurd_count", "truncated_frame", "unexpected_message", "no_common_version",
    ]

    static func kind(of error: WireError) -> String {
        switch error {
        case .badMagic: "bad_magic"
        case .unknownVersion: "unknown_version"
        case .frameTooLarge: "frame_too_large"
        case .unknownMessageType: "unknown_message_type"
        case .truncated: "truncated"
        case .trailingBytes: "trailing_bytes"
        case .invalidUTF8: "invalid_utf8"
        case .invalidValue: "invalid_value"
        case .absurdCount: "absurd_count"
        case .truncatedFrame: "truncated_frame"
        case .unexpectedMessage: "unexpected_message"
        case .noCommonVersion: "no_common_version"
        }
    }
}
