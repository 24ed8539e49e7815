import Testing

@testable import Manager

/// pragma_boot's files, pure: the seed's own `vc-in.xml` parses, a malformed one is refused naming its problem, the
/// plan sizes the computes for N CPUs with addresses in the private network, and the `vc-out.xml` of the frontend
/// and of a compute have the seed's shapes.
@Suite struct PragmaTests {
    /// The `vc-in.xml` example of seed 004, verbatim.
    static let seedVCIn = """
        <vc version='0.1'>
          <virtualization engine='kvm' type='hvm' arch='x86_64'/>
          <driver>rocks6_client</driver>
          <frontend>
            <!-- this is the libvirt xml syntax unmodified 
                 see: http://libvirt.org -->
            <domain type='kvm'>
              <name>calit2-119-222</name>
              <os>
                <type>hvm</type>
                <boot dev='network'/>
                <boot dev='hd'/>
                <bootmenu enable='yes'/>
              </os>
              <memory>1048576</memory>
              <vcpu>1</vcpu>
              <features>
                      <acpi/>
                      <apic/>
                      <pae/>
              </features>
              <devices>
                <emulator>/usr/libexec/qemu-kvm</emulator>
                <interface type='bridge'>
                  <source bridge='eth0.2'/>
                  <mac address='7a:77:6e:40:00:07'/>
                  <model type='virtio' />
                </interface>
                <interface type='bridge'>
                  <source bridge='eth1'/>
                  <mac address='7a:77:6e:40:00:08'/>
                  <model type='virtio' />
                </interface>
                <disk type='file' device='disk'>
                  <driver name='qemu' type='raw'/>
                  <source file='calit2-119-222.img.gz'/>
                  <target dev='hda' bus='ide'/>
                </disk>
                <graphics type='vnc' port='-1'/>
                <console tty='/dev/pts/0'/>
              </devices>
            </domain>
            <!-- end libvirt xml format -->
          </frontend>
          <compute>
            <boot_dependency parent='frontend'>
              <wait type='clock' value='300'/>
            </boot_dependency>
            <!-- this is the libvirt xml syntax unmodified 
                 see: http://libvirt.org -->
            <domain type='kvm'>
              <name>compute-0-0-0</name>
              <os>
                <type>hvm</type>
                <boot dev='network'/>
                <boot dev='hd'/>
                <bootmenu enable='yes'/>
              </os>
              <memory>1048576</memory>
              <vcpu>1</vcpu>
              <features>
                <acpi/>
                <apic/>
                <pae/>
              </features>
              <devices>
                <emulator>/usr/libexec/qemu-kvm</emulator>
                <interface type='bridge'>
                  <source bridge='eth0.2'/>
                  <mac address='7a:77:6e:40:00:0a'/>
                  <model type='virtio' />
                </interface>
                <disk type='file' device='disk'>
                  <driver name='qemu' type='raw'/>
                  <source file='hosted-vm-0-0-1.img.gz'/>
                  <target dev='hda' bus='ide'/>
                </disk>
                <graphics type='vnc' port='-1'/>
                <console tty='/dev/pts/0'/>
              </devices>
            </domain>
            <!-- end libvirt xml format -->
          </compute>
          <networks>
            <network name='private'>
              <ipaddress>10.1.1.1</ipaddress>
              <netmask>255.255.0.0</netmask>
            </network>
            <frontend>
                <public>eth1</public>
            </frontend>
          </networks>
        </vc>
        """

    @Test func theSeedsVCInParses() throws {
        let spec = try PragmaClusterSpec.parse(Self.seedVCIn)
        #expect(spec.version == "0.1")
        #expect(spec.engine == "kvm")
        #expect(spec.driver == "rocks6_client")
        #expect(spec.frontend.name == "calit2-119-222")
        #expect(spec.frontend.virtualCPUs == 1)
        #expect(spec.frontend.memoryBytes == 1_073_741_824)
        #expect(spec.frontend.interfaceCount == 2)
        #expect(spec.frontend.diskSources == ["calit2-119-222.img.gz"])
        #expect(spec.compute.name == "compute-0-0-0")
        #expect(spec.compute.diskSources == ["hosted-vm-0-0-1.img.gz"])
        #expect(spec.computeDelaySeconds == 300)
        #expect(spec.privateAddress == IPv4Address(10, 1, 1, 1))
        #expect(spec.privateNetmask == IPv4Address(255, 255, 0, 0))
        #expect(spec.privatePrefixLength == 16)
        #expect(spec.publicInterface == "eth1")
        // The domains are kept whole, for the VMs made from them.
        #expect(spec.frontendXML.hasPrefix("<domain type=\"kvm\">"))
        #expect(spec.computeXML.contains("<source bridge=\"eth0.2\"/>"))
    }

    static func replacing(_ old: String, _ new: String) -> String {
        seedVCIn.replacingOccurrences(of: old, with: new)
    }

    @Test(arguments: [
        ("<vc version='0.1'><frontend>", "vc-in.xml: malformed XML at line 1"),
        ("", "vc-in.xml: malformed XML"),
        ("<domain type='kvm'/>", "the root element is <domain>, expected <vc>"),
        (replacing("engine='kvm'", "engine='xen'"), "vc/virtualization@engine 'xen': pragma clusters run on kvm"),
        (replacing("<compute>", "<computes>").replacingOccurrences(of: "</compute>", with: "</computes>"),
            "vc-in.xml lacks vc/compute"),
        (replacing("type='clock' value='300'", "type='ping' value='300'"),
            "vc/compute/boot_dependency/wait@type 'ping': only 'clock' waits"),
        (replacing("value='300'", "value='soon'"), "vc/compute/boot_dependency/wait@value 'soon'"),
        (replacing("value='300'", "value='-1'"), "vc/compute/boot_dependency/wait@value '-1'"),
        (replacing("<ipaddress>10.1.1.1</ipaddress>", "<ipaddress>10.1.300.1</ipaddress>"),
            "network[@name='private']/ipaddress '10.1.300.1': not an IPv4 address"),
        (replacing("<ipaddress>10.1.1.1</ipaddress>", "<ipaddress>10.1.0.0</ipaddress>"),
            "the network's own or its broadcast address"),
        (replacing("<netmask>255.255.0.0</netmask>", "<netmask>255.0.255.0</netmask>"), "not a netmask"),
        (replacing("<network name='private'>", "<network name='other'>"),
            "vc-in.xml lacks vc/networks/network[@name='private']"),
        (replacing("<public>eth1</public>", "<public>eth9</public>"),
            "vc/networks/frontend/public 'eth9': the frontend has no interface on it (it has: eth0.2, eth1)"),
        (replacing("<public>eth1</public>", ""), "vc-in.xml lacks vc/networks/frontend/public"),
        (replacing("<name>compute-0-0-0</name>", "<name>calit2-119-222</name>"), "it is the frontend's name too"),
        (replacing("<vcpu>1</vcpu>", "<vcpu>many</vcpu>"), "vc-in.xml: vc/frontend/domain:"),
        (replacing("<memory>1048576</memory>", ""), "vc/frontend/domain"),
        (replacing("<driver>rocks6_client</driver>", "<driver>a</driver><driver>b</driver>"),
            "vc-in.xml has more than one vc/driver"),
    ])
    func aBadVCInIsRefusedNamingItsProblem(xml: String, problem: String) {
        #expect {
            _ = try PragmaClusterSpec.parse(xml)
        } throws: { error in
            "\(error)".contains(problem)
        }
    }

    static func mac(_ index: Int) -> String { "7a:77:6e:40:00:\(String(index + 0x10, radix: 16))" }

    @Test(arguments: [
        (0, 0, [String]()),
        (1, 1, ["10.1.1.2"]),
        (2, 2, ["10.1.1.2", "10.1.1.3"]),
        (5, 5, ["10.1.1.2", "10.1.1.3", "10.1.1.4", "10.1.1.5", "10.1.1.6"]),
    ] as [(Int, Int, [String])])
    func computesAreSizedForTheCPUs(cpus: Int, count: Int, addresses: [String]) throws {
        let spec = try PragmaClusterSpec.parse(Self.seedVCIn)
        let plan = try PragmaClusterPlan.make(spec, cpus: cpus, cluster: "calit2", mac: Self.mac)
        #expect(plan.frontend.name == "calit2")
        #expect(plan.frontend.privateAddress == IPv4Address(10, 1, 1, 1))
        #expect(plan.frontend.privateMAC == "7a:77:6e:40:00:10")
        #expect(plan.computes.count == count)
        #expect(plan.computes.map { "\($0.privateAddress)" } == addresses)
        #expect(plan.computes.map(\.name) == (0..<count).map { "calit2-compute-\($0)" })
        #expect(Set(plan.computes.map(\.privateMAC)).count == count)
    }

    @Test func smpComputesTakeSeveralCPUsEach() throws {
        // The compute's <vcpu> is the second one in the file.
        let parts = Self.seedVCIn.components(separatedBy: "<vcpu>1</vcpu>")
        try #require(parts.count == 3)
        let spec = try PragmaClusterSpec.parse(parts[0] + "<vcpu>1</vcpu>" + parts[1] + "<vcpu>2</vcpu>" + parts[2])
        #expect(spec.compute.virtualCPUs == 2)
        let plan = try PragmaClusterPlan.make(spec, cpus: 3, cluster: "vc", mac: Self.mac)
        #expect(plan.computes.map(\.virtualCPUs) == [2, 2])
    }

    @Test(arguments: [
        (3, "vc", "24", "the private network 10.1.1.1/30 has no room for 3 compute nodes"),
        (-1, "vc", "0", "--cpus must be 0 or more, not -1"),
        (1, "bad name", "0", "'bad name' is not a valid virtual cluster name"),
        (5000, "vc", "0", "5000 CPUs take 5000 compute nodes; at most 1000"),
    ] as [(Int, String, String, String)])
    func plansThatCannotBeAreRefused(cpus: Int, cluster: String, mask: String, problem: String) throws {
        let xml = mask == "0" ? Self.seedVCIn : Self.replacing("255.255.0.0", "255.255.255.252")
        let spec = try PragmaClusterSpec.parse(xml)
        #expect {
            _ = try PragmaClusterPlan.make(spec, cpus: cpus, cluster: cluster, mac: Self.mac)
        } throws: { error in
            "\(error)".contains(problem)
        }
    }

    static let key = "ssh-rsa AAAAB3NzaC1yc2EAAAABIwAAAQEA6vUe5tX root@somehost.ucsd.edu"

    @Test func theFrontendsVCOutHasTheSeedsShape() throws {
        let spec = try PragmaClusterSpec.parse(Self.seedVCIn)
        let plan = try PragmaClusterPlan.make(spec, cpus: 2, cluster: "calit2-119-222", mac: Self.mac)
        let xml = PragmaVCOut.frontend(
            plan,
            spec: spec,
            public: .init(
                fqdn: "calit2-119-222.ucsd.edu",
                address: IPv4Address(137, 110, 119, 222),
                netmask: IPv4Address(255, 255, 255, 0),
                gateway: IPv4Address(137, 110, 119, 1)
            ),
            dns: .init(address: "8.8.8.8"),
            key: Self.key
        )
        #expect(
            xml == """
                <vc>
                  <frontend>
                    <public fqdn="calit2-119-222.ucsd.edu" ip="137.110.119.222" \
                netmask="255.255.255.0" gw="137.110.119.1"/>
                    <private ip="10.1.1.1" netmask="255.255.0.0"/>
                  </frontend>
                  <compute count="2">
                    <node name="calit2-119-222-compute-0" mac="7a:77:6e:40:00:11" ip="10.1.1.2" cpus="1"/>
                    <node name="calit2-119-222-compute-1" mac="7a:77:6e:40:00:12" ip="10.1.1.3" cpus="1"/>
                  </compute>
                  <network>
                    <dns ip="8.8.8.8" search="local" domain=""/>
                  </network>
                  <key>\(Self.key)</key>
                </vc>

                """
        )
        // It parses back with the same parser.
        #expect(try TemplateXMLParser.parse(xml).name == "vc")
    }

    @Test func aComputesVCOutHasTheSeedsShape() throws {
        let spec = try PragmaClusterSpec.parse(Self.seedVCIn)
        let plan = try PragmaClusterPlan.make(spec, cpus: 1, cluster: "vc", mac: Self.mac)
        let xml = PragmaVCOut.compute(
            plan.computes[0],
            plan: plan,
            spec: spec,
            dns: .init(address: "8.8.8.8"),
            key: "k <&> \"q\""
        )
        #expect(
            xml == """
                <vc>
                  <compute>
                    <private fqdn="vc-compute-0" ip="10.1.1.2" netmask="255.255.0.0" gw="10.1.1.1"/>
                  </compute>
                  <network>
                    <dns ip="8.8.8.8" search="local" domain=""/>
                  </network>
                  <key>k &lt;&amp;&gt; "q"</key>
                </vc>

                """
        )
        #expect(try TemplateXMLParser.parse(xml).firstElement(named: "key")?.text == "k <&> \"q\"")
    }
}
