import NIOCore

/// The manager's flavors and images: the answer to ClusterRequest flavorList, imageList, flavorCreate and imageAdd
/// (those two hold only what they made).
public struct CatalogReply: WirePayload {
    public static let messageType = WireMessageType.catalogReply

    public var flavors: [Flavor]
    public var images: [Image]

    /// A named instance type. 24 bytes and the name.
    public struct Flavor: Hashable, Sendable {
        /// Numeric, stable across manager restarts, never reused.
        public var id: UInt32
        public var name: String
        public var virtualCPUs: UInt16
        public var memoryBytes: UInt64
        /// 0: each VM's disk is its image's size.
        public var diskBytes: UInt64

        public init(id: UInt32, name: String, virtualCPUs: UInt16, memoryBytes: UInt64, diskBytes: UInt64) {
            self.id = id
            self.name = name
            self.virtualCPUs = virtualCPUs
            self.memoryBytes = memoryBytes
            self.diskBytes = diskBytes
        }
    }

    /// A disk image on storage the hosts share. 40 bytes and the strings.
    public struct Image: Hashable, Sendable {
        /// Numeric, stable across manager restarts, never reused.
        public var id: UInt32
        public var name: String
        public var path: String
        /// `qcow2` or `raw`, as `qemu-img info` read it.
        public var format: String
        /// The file's size.
        public var sizeBytes: UInt64
        /// The size of the disk it holds.
        public var virtualSizeBytes: UInt64
        /// SHA-256 of the file when it was added, lower-case hex.
        public var sha256: String
        public var addedAtUnixMilliseconds: UInt64
        /// VMs whose overlays it backs.
        public var vmCount: UInt32

        public init(
            id: UInt32,
            name: String,
            path: String,
            format: String,
            sizeBytes: UInt64,
            virtualSizeBytes: UInt64,
            sha256: String,
            addedAtUnixMilliseconds: UInt64,
            vmCount: UInt32
        ) {
            self.id = id
            self.name = name
            self.path = path
            self.format = format
            self.sizeBytes = sizeBytes
            self.virtualSizeBytes = virtualSizeBytes
            self.sha256 = sha256
            self.addedAtUnixMilliseconds = addedAtUnixMilliseconds
            self.vmCount = vmCount
        }
    }

    public init(flavors: [Flavor] = [], images: [Image] = []) {
        self.flavors = flavors
        self.images = images
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeWireArray(flavors) { buffer, flavor in
            buffer.writeInteger(flavor.id)
            buffer.writeWireString(flavor.name)
            buffer.writeMultipleIntegers(flavor.virtualCPUs, flavor.memoryBytes, flavor.diskBytes)
        }
        buffer.writeWireArray(images) { buffer, image in
            buffer.writeInteger(image.id)
            buffer.writeWireString(image.name)
            buffer.writeWireString(image.path)
            buffer.writeWireString(image.format)
            buffer.writeMultipleIntegers(image.sizeBytes, image.virtualSizeBytes)
            buffer.writeWireString(image.sha256)
            buffer.writeMultipleIntegers(image.addedAtUnixMilliseconds, image.vmCount)
        }
    }

    public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> CatalogReply {
        // id 4 + name 2 + vcpus 2 + memory 8 + disk 8
        let flavors = try buffer.readWireArray(minimumElementSize: 24, messageType, "flavors") {
            (buffer) throws(WireError) -> Flavor in
            let id = try buffer.readWireInteger(as: UInt32.self, messageType, "flavors.id")
            let name = try buffer.readWireString(messageType, "flavors.name")
            guard let (vcpus, memory, disk) = buffer.readMultipleIntegers(as: (UInt16, UInt64, UInt64).self) else {
                throw .truncated(message: messageType, field: "flavors.resources")
            }
            return Flavor(id: id, name: name, virtualCPUs: vcpus, memoryBytes: memory, diskBytes: disk)
        }
        // id 4 + 4 strings × 2 + size 8 + virtual size 8 + added 8 + VM count 4
        let images = try buffer.readWireArray(minimumElementSize: 40, messageType, "images") {
            (buffer) throws(WireError) -> Image in
            let id = try buffer.readWireInteger(as: UInt32.self, messageType, "images.id")
            let name = try buffer.readWireString(messageType, "images.name")
            let path = try buffer.readWireString(messageType, "images.path")
            let format = try buffer.readWireString(messageType, "images.format")
            guard let (size, virtualSize) = buffer.readMultipleIntegers(as: (UInt64, UInt64).self) else {
                throw .truncated(message: messageType, field: "images.sizes")
            }
            let sha256 = try buffer.readWireString(messageType, "images.sha256")
            guard let (added, vmCount) = buffer.readMultipleIntegers(as: (UInt64, UInt32).self) else {
                throw .truncated(message: messageType, field: "images.addedAt")
            }
            return Image(
                id: id,
                name: name,
                path: path,
                format: format,
                sizeBytes: size,
                virtualSizeBytes: virtualSize,
                sha256: sha256,
                addedAtUnixMilliseconds: added,
                vmCount: vmCount
            )
        }
        return CatalogReply(flavors: flavors, images: images)
    }
}
