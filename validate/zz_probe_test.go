package validate

import "testing"

func TestProbe(t *testing.T) {
	for _, src := range []string{
		"[[test]]\nname = \"t1\"\nwire = { lan = \"lan12\", established = \"bgp\", between = \"r1\" }\n",
		"[[test]]\nname = \"t1\"\nwire = { lan = \"lan12\", established = \"bgp\", between = [\"r1\", \"r1\"] }\n",
		"[[test]]\nname = \"t1\"\nwire = { lan = \"lan12\", seen = \"bgp\", from = [] }\n",
		"[[test]]\nname = \"t1\"\nnode = \"r1\"\nwire = { lan = \"lan12\", seen = \"bgp\", from = \"r1\" }\n",
		"[[test]]\nname = \"t1\"\nnodes = [\"r1\", 2]\nospf = { neighbor = \"1.1.1.1\", state = \"Full\" }\n",
		"[[test]]\nname = \"t1\"\nnode = \"r1\"\nospf = { neighbor = \"1.1.1.1\", state = \"ful\" }\n",
		"[[test]]\nname = \"t1\"\nnode = \"r1\"\nbgp = { neighbor = \"1.1.1.1\", state = \"establised\" }\n",
		"[test]\nname = \"t1\"\n",
		"[[test]]\nname = \" \"\nnode = \"r1\"\nospf = { neighbor = \"1.1.1.1\" }\n",
		"[[test]]\nname = \"t1\"\nnode = \"r1\"\nospf = { neighbor = \"1.1.1.1\" }\n[[test]]\nname = \"t1\"\nnode = \"r1\"\nospf = { neighbor = \"1.1.1.1\" }\n[[test]]\nname = \"t1\"\nnode = \"r1\"\nospf = { neighbor = \"1.1.1.1\" }\n",
		"[[test]]\nname = \"t1\"\nnode = \"r1\"\n[test.ospf]\nneighbor = \"1.1.1\"\n",
	} {
		s, err := Parse("tests.toml", []byte(src), testTopo)
		t.Logf("----\n%s=> %v\n%v", src, err, s)
		if s != nil {
			for _, tt := range s.Tests {
				t.Logf("%+v %+v", tt, tt.Check)
			}
		}
	}
}
