"""What the tests share beyond fixtures: small models they build, MAT files
they write, the 2015 reference files of ../shared, a small reference file."""
