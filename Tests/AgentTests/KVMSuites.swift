import Testing

/// The end-to-end suites that boot KVM guests, one suite at a time. Run together on 2 cores, their guests (one
/// dirtying memory forever), migrations and labs starved each other's timing; each is long enough alone.
@Suite(.serialized) enum KVMSuites {}
