import Foundation

/// A small hand-written SVG line chart: one series per policy over the day, axes with a few round ticks. Enough
/// for an operator to read at a glance in any browser or image viewer; no plotting library.
struct SVGPlot {
    var title: String
    var unit: String
    /// Seconds per point on the x axis.
    var intervalSeconds: Double
    var series: [(name: String, values: [Double])]

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]

    func render(width: Double = 720, height: Double = 300) -> String {
        let left = 64.0
        let right = 16.0
        let top = 36.0
        let bottom = 44.0
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        let count = series.map(\.values.count).max() ?? 0
        let highest = max(series.flatMap(\.values).max() ?? 0, 1e-9)
        let step = Self.niceStep(highest / 4)
        let topValue = (highest / step).rounded(.up) * step
        let hours = Double(count) * intervalSeconds / 3600

        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
            viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="11">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(left)" y="20" font-size="14" font-weight="bold">\(Self.escape(title))</text>

            """
        // Horizontal grid lines and the y labels.
        var tick = 0.0
        while tick <= topValue + step / 2 {
            let y = top + plotHeight * (1 - tick / topValue)
            svg += "<line x1=\"\(left)\" y1=\(Self.q(y)) x2=\"\(left + plotWidth)\" y2=\(Self.q(y)) stroke=\"#ddd\"/>\n"
            svg += "<text x=\"\(left - 6)\" y=\(Self.q(y + 4)) text-anchor=\"end\">\(Self.label(tick))</text>\n"
            tick += step
        }
        // Hours along the x axis.
        let hourStep = hours > 12 ? 4.0 : hours > 4 ? 1.0 : max(hours / 4, 0.25)
        var hour = 0.0
        while hour <= hours + 1e-9, hours > 0 {
            let x = left + plotWidth * hour / hours
            svg +=
                "<line x1=\(Self.q(x)) y1=\"\(top + plotHeight)\" x2=\(Self.q(x)) y2=\"\(top + plotHeight + 4)\" stroke=\"#444\"/>\n"
            svg +=
                "<text x=\(Self.q(x)) y=\"\(top + plotHeight + 16)\" text-anchor=\"middle\">\(Self.label(hour)) h</text>\n"
            hour += hourStep
        }
        svg += "<text x=\"\(left + plotWidth / 2)\" y=\"\(height - 6)\" text-anchor=\"middle\">time of day</text>\n"
        svg +=
            "<text x=\"14\" y=\"\(top + plotHeight / 2)\" text-anchor=\"middle\" "
            + "transform=\"rotate(-90 14 \(top + plotHeight / 2))\">\(Self.escape(unit))</text>\n"
        svg +=
            "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotWidth)\" height=\"\(plotHeight)\" fill=\"none\" stroke=\"#444\"/>\n"

        for (index, line) in series.enumerated() {
            let color = Self.palette[index % Self.palette.count]
            let points = line.values.enumerated().map { offset, value -> String in
                let x = left + plotWidth * (Double(offset) + 0.5) / Double(max(count, 1))
                let y = top + plotHeight * (1 - value / topValue)
                return "\(Self.f(x)),\(Self.f(y))"
            }
            svg +=
                "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.4\" points=\"\(points.joined(separator: " "))\"/>\n"
            let legendX = left + plotWidth - 150
            let legendY = top + 14 + Double(index) * 14
            svg +=
                "<line x1=\(Self.q(legendX)) y1=\(Self.q(legendY - 4)) x2=\(Self.q(legendX + 18)) y2=\(Self.q(legendY - 4)) "
                + "stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            svg += "<text x=\(Self.q(legendX + 24)) y=\(Self.q(legendY))>\(Self.escape(line.name))</text>\n"
        }
        svg += "</svg>\n"
        return svg
    }

    /// 1, 2 or 5 × a power of ten, at least `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0 else { return 1 }
        var magnitude = 1.0
        while magnitude * 10 <= raw { magnitude *= 10 }
        while magnitude > raw { magnitude /= 10 }
        for factor in [1.0, 2, 5, 10] where magnitude * factor >= raw { return magnitude * factor }
        return magnitude * 10
    }

    static func label(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : f(value)
    }

    static func f(_ value: Double) -> String { String((value * 10).rounded() / 10) }

    static func q(_ value: Double) -> String { "\"\(f(value))\"" }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
