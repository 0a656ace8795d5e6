#!/bin/bash
# a helper, no directives: skipped by a directory scan
echo helper
