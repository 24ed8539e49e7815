import Testing

@testable import Manager

/// `http.web_view`: off by default, every key read, and refused without the front that serves it.
@Suite struct WebViewConfigurationTests {
    @Test func offByDefault() throws {
        let http = try ManagerConfiguration.load(yaml: "http:\n  listen: 127.0.0.1:1\n", file: "manager.yaml").http
        #expect(!http.webView.enabled)
        #expect(http.webView.sampleInterval == .seconds(5))
        #expect(http.webView.historySamples == 720)
    }

    @Test func everyKeyIsRead() throws {
        let yaml = """
            http:
              listen: 127.0.0.1:1
              web_view:
                enabled: true
                sample_interval: 2s
                history_samples: 100
            """
        let webView = try ManagerConfiguration.load(yaml: yaml, file: "manager.yaml").http.webView
        #expect(webView.enabled)
        #expect(webView.sampleInterval == .seconds(2))
        #expect(webView.historySamples == 100)
    }

    @Test(arguments: [
        ("http:\n  web_view:\n    enabled: true\n", "http.web_view.enabled", "needs http.listen"),
        (
            "http:\n  listen: 127.0.0.1:1\n  web_view:\n    enabeld: true\n", "http.web_view.enabeld",
            "did you mean 'enabled'"
        ),
        ("http:\n  listen: 127.0.0.1:1\n  web_view:\n    history_samples: 1\n", "http.web_view.history_samples", "outside 2...1000000"),
        ("http:\n  listen: 127.0.0.1:1\n  web_view:\n    sample_interval: 10ms\n", "http.web_view.sample_interval", "shorter than the minimum"),
    ])
    func badValuesAreErrorsNamingTheKey(yaml: String, key: String, problem: String) {
        #expect {
            _ = try ManagerConfiguration.load(yaml: yaml, file: "manager.yaml")
        } throws: { error in
            let text = "\(error)"
            return text.contains(key) && text.contains(problem) && text.contains("manager.yaml")
        }
    }
}
