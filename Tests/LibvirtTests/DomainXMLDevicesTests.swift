import Testing

@testable import Libvirt

@Suite struct DomainXMLDevicesTests {
    @Test func findsInterfacesAndDisksUnderDevices() {
        let xml = """
            <?xml version="1.0"?>
            <domain type="kvm" id="3">
              <name>guest</name>
              <!-- <interface><target dev='commented-out'/></interface> -->
              <devices>
                <disk type="file" device="disk">
                  <driver name="qemu" type="qcow2"/>
                  <source file="/images/a&amp;b.qcow2"/>
                  <target dev="vda" bus="virtio"/>
                </disk>
                <disk type='file' device='cdrom'>
                  <target dev='sda' bus='sata'/>
                  <readonly/>
                </disk>
                <disk type='file' device='disk'>
                  <source file='/images/no-target.img'/>
                </disk>
                <interface type='network'>
                  <mac address='52:54:00:aa:bb:cc'/>
                  <source network='default'/>
                  <target dev='vnet7'/>
                  <model type='virtio'/>
                </interface>
                <interface type='user'>
                  <mac address="52:54:00:dd:ee:ff"/>
                </interface>
                <serial type='pty'>
                  <target port='0'/>
                </serial>
                <console type='pty'>
                  <target type='serial' port='0'/>
                </console>
              </devices>
            </domain>
            """
        let devices = DomainXMLDevices(domainXML: xml)
        #expect(
            devices.interfaces == [
                DomainXMLDevices.Interface(targetDevice: "vnet7", macAddress: "52:54:00:aa:bb:cc"),
                DomainXMLDevices.Interface(targetDevice: nil, macAddress: "52:54:00:dd:ee:ff"),
            ]
        )
        #expect(devices.interfaces.map(\.statsName) == ["vnet7", "52:54:00:dd:ee:ff"])
        #expect(
            devices.disks == [
                DomainXMLDevices.Disk(targetDevice: "vda", kind: "disk"),
                DomainXMLDevices.Disk(targetDevice: "sda", kind: "cdrom"),
            ]
        )
    }

    @Test func toleratesEmptyAndBrokenInput() {
        #expect(DomainXMLDevices(domainXML: "") == DomainXMLDevices())
        #expect(DomainXMLDevices(domainXML: "<domain><devices><interface") == DomainXMLDevices())
        #expect(DomainXMLDevices(domainXML: "<devices><disk/><interface/></devices>") == DomainXMLDevices())
        let unterminated = DomainXMLDevices(domainXML: "<devices><disk device='disk'><target dev='vdb")
        #expect(unterminated.disks.isEmpty)
    }

    @Test func scannerDecodesAttributesAndSkipsMarkup() {
        let tags = Array(XMLTagScanner("<?xml?><!DOCTYPE x><a k=\"1 &lt; 2\" j = 'x'><![CDATA[<b>]]></a><c/>"))
        #expect(
            tags == [
                .open(name: "a", attributes: ["k": "1 < 2", "j": "x"], selfClosing: false),
                .close(name: "a"),
                .open(name: "c", attributes: [:], selfClosing: true),
            ]
        )
    }
}
