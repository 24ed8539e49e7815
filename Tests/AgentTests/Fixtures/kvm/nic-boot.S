/*
 * nic-boot.S: the tiny KVM guest's boot sector (assembled into nic-boot.bin, committed beside it).
 *
 * A guest that only runs `sti; hlt; jmp` never touches its NIC, and the tap's byte counters stay still: the host
 * kernel counts a frame it sends into the tap only once QEMU reads it, and QEMU reads only when the guest's
 * virtio-net driver has posted receive buffers. So this boot sector is a minimal legacy virtio-net driver:
 *   - finds the virtio-net PCI function (1af4:1000) on bus 0, enables I/O and bus mastering, takes BAR0;
 *   - sets up the receive queue (0) and transmit queue (1), interrupts off;
 *   - then, on every timer tick (sti; hlt, ~18 Hz): sends one 60-byte broadcast frame (ethertype 0x88b5,
 *     "local experimental", so no host stack reacts), and re-posts one receive buffer, so frames the host sends
 *     into the tap are consumed.
 * The guest's tx (the tap's rx) then grows by ~1 KB/s, and its rx by whatever the host sends. The frames stay
 * on the tap, inside the private libvirtd's network namespace (scripts/lab-libvirtd).
 *
 * Memory: rings at 0x10000 (rx: desc 0x10000, avail 0x11000, used 0x12000) and 0x14000 (tx: 0x14000, 0x15000,
 * 0x16000), both for QEMU's default queue size of 256; one receive buffer at 0x18000.
 *
 * Rebuild: as --32 -o nic-boot.o nic-boot.S && ld -m elf_i386 -Ttext 0x7c00 --oformat binary -o nic-boot.bin nic-boot.o
 */
        .intel_syntax noprefix
        .code16
        .globl _start
_start:
        cli
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, 0x7c00
        cld

        /* Find 1af4:1000 on PCI bus 0. */
        mov ebx, 0x80000000
find:
        mov eax, ebx
        mov dx, 0xcf8
        out dx, eax
        mov dl, 0xfc
        in eax, dx
        cmp eax, 0x10001af4
        je found
        add ebx, 0x800
        cmp ebx, 0x80010000
        jb find
        jmp idle

found:
        /* Command register: I/O space and bus master on. */
        lea eax, [ebx + 4]
        mov dl, 0xf8
        out dx, eax
        mov dl, 0xfc
        in ax, dx
        or al, 5
        out dx, ax
        /* BAR0: the legacy virtio I/O window. */
        lea eax, [ebx + 0x10]
        mov dl, 0xf8
        out dx, eax
        mov dl, 0xfc
        in eax, dx
        and al, 0xfc
        mov bp, ax

        /* Our MAC (device config at +0x14 while MSI-X is off) into the frame's source address. */
        lea dx, [bp + 0x14]
        mov di, offset src_mac
        mov cx, 6
        rep insb

        /* Reset, then ACKNOWLEDGE | DRIVER; no features. */
        lea dx, [bp + 0x12]
        xor al, al
        out dx, al
        mov al, 3
        out dx, al
        lea dx, [bp + 4]
        xor eax, eax
        out dx, eax

        /* Zero 0x10000..0x17fff (both rings). */
        mov ax, 0x1000
        mov es, ax
        xor di, di
        mov cx, 0x4000
        xor ax, ax
        rep stosw

        /* Receive descriptor 0: 2 KiB at 0x18000, device-writable. Transmit descriptor 0: the frame below. */
        mov dword ptr es:[0x0000], 0x18000
        mov word ptr es:[0x0008], 2048
        mov word ptr es:[0x000c], 2
        mov dword ptr es:[0x4000], 0x7c00 + (frame - _start)
        mov word ptr es:[0x4008], frame_end - frame
        /* No interrupts from either queue. */
        mov word ptr es:[0x1000], 1
        mov word ptr es:[0x5000], 1

        /* Queue 0 at PFN 0x10, queue 1 at PFN 0x14 (both must be 256 entries long). */
        xor cx, cx
        mov si, 0x10
setup_queue:
        lea dx, [bp + 0x0e]
        mov ax, cx
        out dx, ax
        lea dx, [bp + 0x0c]
        in ax, dx
        cmp ax, 256
        jne idle
        lea dx, [bp + 0x08]
        movzx eax, si
        out dx, eax
        add si, 4
        inc cx
        cmp cx, 2
        jb setup_queue

        /* DRIVER_OK. */
        lea dx, [bp + 0x12]
        mov al, 7
        out dx, al

tick:
        sti
        hlt
        /* Transmit again once the device has used the previous frame. */
        mov ax, es:[0x6002]
        cmp ax, es:[0x5002]
        jne receive
        inc word ptr es:[0x5002]
        lea dx, [bp + 0x10]
        mov ax, 1
        out dx, ax
receive:
        /* Post the receive buffer again once the device has filled it. */
        mov ax, es:[0x2002]
        cmp ax, es:[0x1002]
        jne tick
        inc word ptr es:[0x1002]
        lea dx, [bp + 0x10]
        xor ax, ax
        out dx, ax
        jmp tick

idle:
        sti
        hlt
        jmp idle

        /* virtio_net_hdr (10 bytes, all zero) and a 60-byte Ethernet frame. */
frame:
        .fill 10, 1, 0
        .byte 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
src_mac:
        .byte 0x52, 0x54, 0x00, 0x00, 0x00, 0x00
        .byte 0x88, 0xb5
payload:
        .ascii "torpor kvm end-to-end test frame"
        .fill 60 - 14 - (. - payload), 1, 0
frame_end:

        .org 510
        .byte 0x55, 0xaa
