import Foundation
import Glibc
import Testing
import LabGate

@Suite struct UnixSocketAddressTests {
    @Test("a socket path too long for sockaddr_un is refused instead of cut short")
    func tooLong() {
        #expect(UnixSocketAddress(path: "/run/" + String(repeating: "x", count: 103)) == nil, "108 bytes leave no room for the zero")
        #expect(UnixSocketAddress(path: "/run/" + String(repeating: "x", count: 102)) != nil, "107 bytes and the zero fit")
        #expect(UnixSocketAddress(path: "") == nil)
    }

    @Test("an abstract address (@name, as systemd writes it) counts no terminating zero; a path counts one")
    func lengths() throws {
        let family = MemoryLayout<sa_family_t>.size
        #expect(try #require(UnixSocketAddress(path: "@labgate/notify")).length == socklen_t(family + 15))
        #expect(try #require(UnixSocketAddress(path: "/run/n.sock")).length == socklen_t(family + 12))
    }

    @Test("a bound, listening stream socket is seen as listening; once closed it is not")
    func listening() throws {
        let path = NSTemporaryDirectory() + "usa-\(UUID().uuidString.prefix(8)).sock"
        defer { unlink(path) }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        let address = try #require(UnixSocketAddress(path: path))
        #expect(address.bind(fd))
        #expect(listen(fd, 4) == 0)
        #expect(UnixSocketAddress.isListening(path))
        close(fd)
        #expect(!UnixSocketAddress.isListening(path))
    }
}
