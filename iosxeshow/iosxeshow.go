// Package iosxeshow parses the text of Cisco IOS-XE show commands into Go
// values, for checks that read a router's state over an ssh exec session
// (IOS-XE has no JSON output there).
//
// The commands covered are:
//
//   - show ip ospf neighbor            -> ParseOSPFNeighbors
//   - show ip bgp summary              -> ParseBGPSummary
//     (also show bgp ipv4 unicast summary and show bgp all summary)
//   - show ip route                    -> ParseRoutes
//     (the full table, also show ip route vrf NAME / vrf *)
//   - show ip interface brief          -> ParseIPInterfaceBrief
//
// All parsers are pure functions of the text. They tolerate the noise an ssh
// exec session can add: blank lines, carriage returns, a leading command
// echo ("r1#show ip route" or a bare "show ip route"), the exec "Load for
// five secs" / "Time source is" banner lines and a trailing prompt such as
// "r1#". Lines they do not recognise are skipped. They return an error only
// when the text is clearly not the command's output: when the device
// printed an IOS error message ("% Invalid input detected at '^' marker.",
// "% BGP not active", ...), reported as a *DeviceError carrying that message,
// or when the text holds the column header of one of the other commands and
// not the expected one.
//
// The golden tests run over real device outputs published by
// networktocode/ntc-templates (tests/cisco_ios/<command>/*.raw),
// CiscoTestAutomation/genieparser (src/genie/libs/parser/iosxe/tests/...)
// and napalm-automation/napalm (test/ios/mocked_data/...); each sample is kept
// unchanged under testdata/ and testdata/SOURCES.md says exactly where it
// came from.
package iosxeshow

import (
	"fmt"
	"regexp"
	"strings"
)

// DeviceError is returned when the output holds an IOS error message
// instead of the command's output, for example "% Invalid input detected at
// '^' marker." or "% BGP not active".
type DeviceError struct {
	// Message is the device's message as printed, starting with "%".
	Message string
}

func (e *DeviceError) Error() string {
	return "iosxeshow: device error: " + e.Message
}

// command identifies one of the parsed commands, for header detection.
type command int

const (
	cmdOSPFNeighbor command = iota
	cmdBGPSummary
	cmdIPRoute
	cmdIPInterfaceBrief
)

var allCommands = []command{cmdOSPFNeighbor, cmdBGPSummary, cmdIPRoute, cmdIPInterfaceBrief}

var commandNames = map[command]string{
	cmdOSPFNeighbor:     "show ip ospf neighbor",
	cmdBGPSummary:       "show ip bgp summary",
	cmdIPRoute:          "show ip route",
	cmdIPInterfaceBrief: "show ip interface brief",
}

// commandHeaders are lines that only the given command prints.
var commandHeaders = map[command]*regexp.Regexp{
	cmdOSPFNeighbor:     regexp.MustCompile(`^Neighbor ID\s+Pri\s+State\b`),
	cmdBGPSummary:       regexp.MustCompile(`^(?:Neighbor\s+V\s+AS\s+MsgRcvd\b|BGP router identifier\s)`),
	cmdIPRoute:          regexp.MustCompile(`^(?:Codes: |Gateway of last resort is )`),
	cmdIPInterfaceBrief: regexp.MustCompile(`^Interface\s+IP-Address\s+OK\?`),
}

var (
	// rePrompt matches an IOS prompt, alone or followed by the echoed
	// command: "r1#", "r1>", "R1_iosv#show ip route", "r1(config)#", "#show".
	rePrompt = regexp.MustCompile(`^[A-Za-z0-9_.:/\-]*(?:\([A-Za-z0-9_\-]+\))?[#>]`)
	// reEcho matches a bare echoed show command.
	reEcho = regexp.MustCompile(`^(?:sh|sho|show)\s+\S`)
)

// cleanLines splits text into lines with carriage returns, trailing blanks
// and leading indentation removed, dropping blank lines, prompts and command
// echoes. It returns a *DeviceError for the first IOS error message found.
func cleanLines(text string) ([]string, error) {
	raw := strings.Split(text, "\n")
	out := make([]string, 0, len(raw))
	for _, l := range raw {
		l = strings.TrimSpace(strings.ReplaceAll(l, "\r", ""))
		if l == "" {
			continue
		}
		// "% - next hop override" is part of the show ip route legend.
		if strings.HasPrefix(l, "%") && !strings.HasPrefix(l, "% -") {
			return nil, &DeviceError{Message: l}
		}
		if rePrompt.MatchString(l) || reEcho.MatchString(l) {
			continue
		}
		out = append(out, l)
	}
	return out, nil
}

// checkForeign returns an error when lines hold no header of the command
// own but do hold the header of another command, i.e. when the text is
// clearly the output of a different command.
func checkForeign(lines []string, own command) error {
	for _, l := range lines {
		if commandHeaders[own].MatchString(l) {
			return nil
		}
	}
	for _, l := range lines {
		for _, c := range allCommands {
			if c != own && commandHeaders[c].MatchString(l) {
				return fmt.Errorf("iosxeshow: not %s output: found the %s header %q",
					commandNames[own], commandNames[c], l)
			}
		}
	}
	return nil
}
