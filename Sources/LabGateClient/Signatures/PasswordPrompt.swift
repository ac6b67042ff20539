import Glibc

/// Reads a signer's password: on a terminal with its echo turned off (the password is never an
/// argument or an environment variable, which other users and the shell's history can read). When
/// standard input is not a terminal (a script, a test) it reads the first line of standard
/// input instead, and says nothing.
public enum PasswordPrompt {
    /// nil at the end of input or when the terminal cannot be read.
    public static func read(prompt: String) -> String? {
        guard isatty(STDIN_FILENO) == 1 else { return readLine(strippingNewline: true) }
        var saved = termios()
        guard tcgetattr(STDIN_FILENO, &saved) == 0 else { return nil }
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO | ECHOE | ECHOK | ECHONL)
        quiet.c_lflag |= tcflag_t(ICANON)
        writeToError(prompt)
        guard tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0 else { return nil }
        let line = readLine(strippingNewline: true)
        _ = tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
        // The newline the user typed was not echoed.
        writeToError("\n")
        return line
    }

    private static func writeToError(_ text: String) {
        var text = text
        text.withUTF8 { bytes in _ = write(STDERR_FILENO, bytes.baseAddress, bytes.count) }
    }
}
