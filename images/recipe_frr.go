package images

// RouterUser is the frr image's router user (examples/images/frr/image.toml makes it): its login shell is
// vtysh (so ssh lands in FRR's Cisco-like CLI, prompt "HOSTNAME#"), it is in the frr and frrvty groups, and
// at boot its hook gives it the keys day-0 gave root.
const RouterUser = "admin"
